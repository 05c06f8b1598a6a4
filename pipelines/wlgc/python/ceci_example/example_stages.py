"""A weak-lensing / galaxy-clustering toy pipeline in ceci's style: each stage reads its inputs and
writes one line per output naming itself and its configuration. The classes, tags, file types and
options are those of ceci's own example pipeline (its tests/test.yml), so ceci's example files run
here unchanged."""
from ceci import PipelineStage
from .types import TextFile, YamlFile


class ToyStage(PipelineStage):
    """Reads every input, writes every output: what each example stage does."""

    def run(self):
        for tag, _ in self.inputs:
            with open(self.get_input(tag)) as f:
                f.read()
        settings = " ".join(f"{k}={v}" for k, v in sorted(self.config.items()))
        for tag, _ in self.outputs:
            with open(self.get_output(tag), "w") as f:
                f.write(f"{self.instance_name} was here ({settings})\n")
        print(f"{self.instance_name}: read {len(self.inputs)} input(s), wrote {len(self.outputs)} output(s)")


class shearMeasurementPipe(ToyStage):
    name = "shearMeasurementPipe"
    inputs = [("DM", TextFile)]
    outputs = [("shear_catalog", TextFile)]
    config_options = {"metacalibration": bool, "apply_flag": bool}


class PZEstimationPipe(ToyStage):
    name = "PZEstimationPipe"
    inputs = [("DM", TextFile), ("fiducial_cosmology", TextFile)]
    outputs = [("photoz_pdfs", TextFile)]
    parallel = False


class WLGCRandoms(ToyStage):
    name = "WLGCRandoms"
    inputs = [("diagnostic_maps", TextFile)]
    outputs = [("random_catalog", TextFile)]


class WLGCSelector(ToyStage):
    name = "WLGCSelector"
    inputs = [("shear_catalog", TextFile), ("photoz_pdfs", TextFile)]
    outputs = [("tomography_catalog", TextFile)]
    config_options = {"zbin_edges": [float], "ra_range": [-5.0, 5.0]}


class SourceSummarizer(ToyStage):
    name = "SourceSummarizer"
    inputs = [("tomography_catalog", TextFile), ("photoz_pdfs", TextFile), ("diagnostic_maps", TextFile)]
    outputs = [("source_summary_data", TextFile)]


class SysMapMaker(ToyStage):
    name = "SysMapMaker"
    inputs = [("DM", TextFile)]
    outputs = [("diagnostic_maps", TextFile)]


class WLGCTwoPoint(ToyStage):
    name = "WLGCTwoPoint"
    inputs = [("tomography_catalog", TextFile), ("shear_catalog", TextFile), ("diagnostic_maps", TextFile), ("random_catalog", TextFile)]
    outputs = [("twopoint_data", TextFile)]


class WLGCCov(ToyStage):
    name = "WLGCCov"
    inputs = [("fiducial_cosmology", TextFile), ("tomography_catalog", TextFile), ("shear_catalog", TextFile), ("source_summary_data", TextFile), ("diagnostic_maps", TextFile)]
    outputs = [("covariance_1", TextFile)]


class WLGCSummaryStatistic(ToyStage):
    name = "WLGCSummaryStatistic"
    inputs = [("twopoint_data", TextFile), ("covariance_2", TextFile), ("source_summary_data", TextFile)]
    outputs = [("wlgc_summary_data", TextFile)]
    parallel = False

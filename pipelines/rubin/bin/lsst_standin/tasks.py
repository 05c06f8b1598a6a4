"""The task classes the stand-in pipetask knows, with their connections (what the stack reads
from each PipelineTask's Python connections class): dimensions, inputs, prerequisite inputs and
outputs, each connection (name, default dataset type, dimensions, multiple?, storage class).
A config key `connections.<name>: <datasetType>` renames a connection's dataset type.

Simplified: no tract/patch (per-band aggregation stands for per-tract and per-patch); visit ==
exposure. What each task does when run is in executor.py (every task writes a small JSON file
per output; LoVoCCS's CheckVisitTask writes visit_quality only for visits with good seeing, and its
ConsolidateQualityVisitSummaryTask reads it, so step 2a has no quantum for a rejected visit)."""

EXPOSURE = ("instrument", "exposure", "detector")
DETECTOR = ("instrument", "visit", "detector")
VISIT = ("instrument", "visit")
BAND = ("instrument", "band")
REFCAT = "the_monster_20240904"


def c(name, dataset_type, dims, multiple=False, storage="StructuredDataDict"):
    return {"name": name, "type": dataset_type, "dims": list(dims), "multiple": multiple, "storageClass": storage}


def task(dims, inputs, outputs, prerequisites=()):
    return {"dims": list(dims), "inputs": list(inputs), "prerequisites": list(prerequisites), "outputs": list(outputs)}


TASKS = {
    "lsst.ip.isr.IsrTask": task(
        EXPOSURE, [c("ccdExposure", "raw", EXPOSURE, storage="Exposure")], [c("outputExposure", "postISRCCD", EXPOSURE, storage="Exposure")],
        # Dropped by doBias=False, as IsrTaskConnections drops it.
        [c("bias", "bias", ("instrument", "detector"), storage="ExposureF")],
    ),
    "lsst.pipe.tasks.calibrateImage.CalibrateImageTask": task(
        DETECTOR, [c("exposures", "postISRCCD", DETECTOR, storage="Exposure")],
        [c("exposure", "calexp", DETECTOR, storage="ExposureF"), c("stars", "preSource", DETECTOR, storage="SourceCatalog")],
        [c("astrometry_ref_cat", REFCAT, (), True, "SimpleCatalog"), c("photometry_ref_cat", REFCAT, (), True, "SimpleCatalog")],
    ),
    "lovoccs_pipe.check_visit.CheckVisitTask": task(VISIT, [c("calexps", "calexp", DETECTOR, True, "ExposureF")], [c("visitQuality", "visit_quality", VISIT)]),
    "lsst.pipe.tasks.postprocess.ConsolidateVisitSummaryTask": task(VISIT, [c("calexp", "calexp", DETECTOR, True, "ExposureF")], [c("visitSummary", "visitSummary", VISIT, storage="ExposureCatalog")]),
    # LoVoCCS's step 2a: only the visits check_visit kept (those with a visit_quality).
    "lovoccs_pipe.consolidate_visit.ConsolidateQualityVisitSummaryTask": task(
        VISIT, [c("calexp", "calexp", DETECTOR, True, "ExposureF"), c("visitQuality", "visit_quality", VISIT)], [c("visitSummary", "visitSummary", VISIT, storage="ExposureCatalog")],
    ),
    "lsst.jointcal.JointcalTask": task(
        BAND, [c("inputVisitSummary", "visitSummary", VISIT, True, "ExposureCatalog")],
        [c("outputPhotoCalibCatalog", "jointcalPhotoCalibCatalog", BAND, storage="ExposureCatalog"), c("outputWcs", "jointcalSkyWcsCatalog", BAND, storage="ExposureCatalog")],
    ),
    "lsst.drp.tasks.update_visit_summary.UpdateVisitSummaryTask": task(
        VISIT, [c("input_summary_catalog", "visitSummary", VISIT, storage="ExposureCatalog"), c("photo_calib_overrides_tract", "jointcalPhotoCalibCatalog", BAND, storage="ExposureCatalog")],
        [c("output_summary_catalog", "finalVisitSummary", VISIT, storage="ExposureCatalog")],
    ),
    "lsst.drp.tasks.assemble_coadd.CompareWarpAssembleCoaddTask": task(
        BAND, [c("inputWarps", "calexp", DETECTOR, True, "ExposureF"), c("visitSummaries", "finalVisitSummary", VISIT, True, "ExposureCatalog")],
        [c("coaddExposure", "deepCoadd", BAND, storage="ExposureF")],
    ),
    "lsst.pipe.tasks.multiBand.DetectCoaddSourcesTask": task(BAND, [c("exposure", "deepCoadd", BAND, storage="ExposureF")], [c("outputSources", "deepCoadd_det", BAND, storage="SourceCatalog")]),
    "lsst.pipe.tasks.multiBand.MeasureMergedCoaddSourcesTask": task(BAND, [c("inputCatalog", "deepCoadd_det", BAND, storage="SourceCatalog")], [c("outputSources", "deepCoadd_meas", BAND, storage="SourceCatalog")]),
    "lsst.drp.tasks.forcedPhotCoadd.ForcedPhotCoaddTask": task(BAND, [c("refCat", "deepCoadd_meas", BAND, storage="SourceCatalog")], [c("measCat", "deepCoadd_forced_src", BAND, storage="SourceCatalog")]),
    "lsst.pipe.tasks.skyCorrection.SkyCorrectionTask": task(VISIT, [c("calExps", "calexp", DETECTOR, True, "ExposureF")], [c("skyCorr", "skyCorr", VISIT, storage="Background")]),
}


def connections(class_name, config):
    """The task's connections with the dataset types its config gives them; None if unknown."""
    spec = TASKS.get(class_name)
    if spec is None:
        return None
    rename = lambda conn: {**conn, "type": str(config.get(f"connections.{conn['name']}", conn["type"]))}
    prerequisites = [p for p in spec["prerequisites"] if not (p["name"] == "bias" and config.get("doBias", True) in (False, "False", "false"))]
    return {"dims": spec["dims"], **{k: [rename(x) for x in v] for k, v in (("inputs", spec["inputs"]), ("prerequisites", prerequisites), ("outputs", spec["outputs"]))}}

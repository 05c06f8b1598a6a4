"""The task classes the stand-in pipetask knows, with their connections (what the stack reads
from each PipelineTask's Python connections): dimensions, inputs, prerequisite inputs, outputs.
No tract/patch: per-band aggregation stands for per-tract. `visit` and `exposure` are the same
number (one snap per visit). A config key `connections.<name>: <datasetType>` renames one."""

EXPOSURE = ("instrument", "exposure", "detector")
DETECTOR = ("instrument", "visit", "detector")
VISIT = ("instrument", "visit")
BAND = ("instrument", "band")


def conn(name, type_name, dims, multiple=False):
    return {"name": name, "type": type_name, "dims": dims, "multiple": multiple}


TASKS = {
    "lsst.ip.isr.IsrTask": {"dims": EXPOSURE, "inputs": [conn("ccdExposure", "raw", EXPOSURE)], "prerequisites": [], "outputs": [conn("outputExposure", "postISRCCD", EXPOSURE)]},
    "lsst.pipe.tasks.calibrateImage.CalibrateImageTask": {
        "dims": DETECTOR,
        "inputs": [conn("exposures", "postISRCCD", DETECTOR)],
        "prerequisites": [conn("astrometry_ref_cat", "the_monster_20240904", ()), conn("photometry_ref_cat", "the_monster_20240904", ())],
        "outputs": [conn("exposure", "calexp", DETECTOR), conn("stars", "preSource", DETECTOR)],
    },
    "lovoccs_pipe.check_visit.CheckVisitTask": {"dims": VISIT, "inputs": [conn("calexps", "calexp", DETECTOR, True)], "prerequisites": [], "outputs": [conn("quality", "visit_quality", VISIT)]},
    "lsst.pipe.tasks.postprocess.ConsolidateVisitSummaryTask": {"dims": VISIT, "inputs": [conn("calexp", "calexp", DETECTOR, True)], "prerequisites": [], "outputs": [conn("visitSummary", "visitSummary", VISIT)]},
    "lsst.jointcal.JointcalTask": {"dims": BAND, "inputs": [conn("inputVisitSummary", "visitSummary", VISIT, True)], "prerequisites": [], "outputs": [conn("outputPhotoCalibCatalog", "jointcalPhotoCalibCatalog", BAND), conn("outputWcs", "jointcalSkyWcsCatalog", BAND)]},
    "lsst.drp.tasks.update_visit_summary.UpdateVisitSummaryTask": {"dims": VISIT, "inputs": [conn("input_summary_schema", "visitSummary", VISIT), conn("photo_calib_overrides_tract", "jointcalPhotoCalibCatalog", BAND)], "prerequisites": [], "outputs": [conn("output_summary", "finalVisitSummary", VISIT)]},
    "lsst.drp.tasks.assemble_coadd.CompareWarpAssembleCoaddTask": {"dims": BAND, "inputs": [conn("inputWarps", "calexp", DETECTOR, True), conn("visitSummaries", "finalVisitSummary", VISIT, True)], "prerequisites": [], "outputs": [conn("coaddExposure", "deepCoadd", BAND)]},
    "lsst.pipe.tasks.multiBand.DetectCoaddSourcesTask": {"dims": BAND, "inputs": [conn("exposure", "deepCoadd", BAND)], "prerequisites": [], "outputs": [conn("outputSources", "deepCoadd_det", BAND)]},
    "lsst.pipe.tasks.multiBand.MeasureMergedCoaddSourcesTask": {"dims": BAND, "inputs": [conn("inputCatalog", "deepCoadd_det", BAND)], "prerequisites": [], "outputs": [conn("outputSources", "deepCoadd_meas", BAND)]},
    "lsst.drp.tasks.forcedPhotCoadd.ForcedPhotCoaddTask": {"dims": BAND, "inputs": [conn("refCat", "deepCoadd_meas", BAND)], "prerequisites": [], "outputs": [conn("measCat", "deepCoadd_forced_src", BAND)]},
    "lsst.pipe.tasks.skyCorrection.SkyCorrectionTask": {"dims": VISIT, "inputs": [conn("calExps", "calexp", DETECTOR, True)], "prerequisites": [], "outputs": [conn("skyCorr", "skyCorr", VISIT)]},
}


def connections(class_name, config):
    """The task's connections with the dataset types its config gives them."""
    spec = TASKS.get(class_name)
    if spec is None:
        return None
    rename = lambda c: {**c, "type": str(config.get(f"connections.{c['name']}", c["type"]))}
    return {"dims": spec["dims"], "inputs": [rename(c) for c in spec["inputs"]], "prerequisites": [rename(c) for c in spec["prerequisites"]], "outputs": [rename(c) for c in spec["outputs"]]}

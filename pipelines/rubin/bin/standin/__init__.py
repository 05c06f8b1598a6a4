"""Stand-ins for the LSST stack's butler, pipetask and bps (see ../butler, ../pipetask, ../bps)."""

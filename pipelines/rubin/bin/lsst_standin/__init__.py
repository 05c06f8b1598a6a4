"""Shared code of the stand-ins for the LSST stack's butler, pipetask and bps (../butler,
../pipetask, ../bps): standard library only, Python 3.8+. Not the stack: a simplified data model
(see registry.py and dimensions.py) that keeps the commands' arguments, checks, messages and
output formats."""

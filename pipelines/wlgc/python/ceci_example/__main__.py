from ceci import PipelineStage

from . import *  # noqa: F401,F403

if __name__ == "__main__":
    PipelineStage.main()

from .example_stages import *  # noqa: F401,F403 - importing the package registers its stages

"""File types of the example stages: a suffix each, as ceci's file types have."""


class DataFile:
    suffix = None


class TextFile(DataFile):
    suffix = "txt"


class YamlFile(DataFile):
    suffix = "yml"


class HDFFile(DataFile):
    suffix = "hdf"

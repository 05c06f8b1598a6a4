"""A stand-in for ceci's PipelineStage, which cannot be installed here (no PyPI): standard library
only. It runs one stage the way `python3 -m <package> <Stage> ...` runs it under ceci: the same
command line (--<input tag>=, --<output tag>=, --config=, --name=, --mpi), the stage's section of
the stages config over its `global:` section over the class's defaults, required options checked,
outputs written as inprogress_<name> and renamed when the stage succeeds. Put the real ceci on the
import path first to use it instead."""
import argparse
import os
import sys

from .yaml_subset import load_yaml


class StageError(Exception):
    pass


class PipelineStage:
    name = None
    config_options = {}
    parallel = True
    registry = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__ or cls.name is None:
            cls.name = cls.__name__
        PipelineStage.registry[cls.name] = cls

    def __init__(self, args):
        self.instance_name = args.name or self.name
        self._inputs = {tag: getattr(args, tag) for tag, _ in self.inputs}
        self._outputs = {tag: getattr(args, tag) for tag, _ in self.outputs}
        self.config = self._read_config(args.config)
        self.rank, self.size, self.comm = 0, 1, None

    def _read_config(self, path):
        overall = load_yaml(open(path).read()) if path and path != "None" else {}
        config = {}
        for key, option in self.config_options.items():
            if not isinstance(option, type) and option is not None and not isinstance(option, list):
                config[key] = option
            elif isinstance(option, list) and option and not isinstance(option[0], type):
                config[key] = option
        config.update(overall.get("global") or {})
        config.update(overall.get(self.instance_name) or {})
        missing = [k for k, o in self.config_options.items() if k not in config and (o is None or isinstance(o, type))]
        if missing:
            raise StageError(f"Error configuring {self.instance_name}: Missing configuration option {missing[0]}")
        return config

    def get_input(self, tag):
        return self._inputs[tag]

    def get_output(self, tag, final_name=False):
        path = self._outputs[tag]
        if final_name:
            return path
        head, tail = os.path.split(path)
        return os.path.join(head, f"inprogress_{tail}")

    def run(self):
        raise NotImplementedError

    def finalize(self):
        for tag in self._outputs:
            os.replace(self.get_output(tag), self.get_output(tag, final_name=True))

    @classmethod
    def main(cls):
        if len(sys.argv) < 2 or sys.argv[1] not in PipelineStage.registry:
            known = ", ".join(sorted(PipelineStage.registry))
            sys.exit(f"Usage: python -m <module> <stage_name> <stage_arguments>\nknown stages: {known}")
        stage_cls = PipelineStage.registry[sys.argv[1]]
        parser = argparse.ArgumentParser(description=f"Run pipeline stage {stage_cls.name}")
        parser.add_argument("stage_name")
        for tag, _ in stage_cls.inputs + stage_cls.outputs:
            parser.add_argument(f"--{tag}")
        parser.add_argument("--name")
        parser.add_argument("--config")
        if stage_cls.parallel:
            parser.add_argument("--mpi", action="store_true")
        args = parser.parse_args()
        missing = [f"--{tag}" for tag, _ in stage_cls.inputs if getattr(args, tag) is None]
        if missing:
            sys.exit(f"{stage_cls.name} Missing these names on the command line:\n    Input names: {'  '.join(missing)}")
        try:
            stage = stage_cls(args)
            stage.run()
            stage.finalize()
        except (StageError, OSError) as e:
            sys.exit(str(e))
        return 0

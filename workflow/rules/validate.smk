# Configuration check, done before anything else is defined. The top level against
# workflow/schemas/config.schema.yaml, then each stage's section against its own schema file.
# (Kept out of the Snakefile so that no snakefile mixes functions and rules: snakemake --lint.)

# Config keys that were renamed or moved, old dotted path -> new. A config that holds an old key is
# rejected before any job runs, by a message that names the new key and the config file holding
# the old.
RENAMED_KEYS = {
    "toy": "circle",
    "mnist.data": "datasets.mnist",
    "mnist.figS3.fashion_mnist.data": "datasets.fashion_mnist",
    "mnist.figS3.cifar10.local": "datasets.cifar10.local",
}


def _check_renamed_keys():
    """Stop on a key of RENAMED_KEYS, naming its new name and where it was set."""
    import yaml
    from snakemake.exceptions import WorkflowError

    def holds(data, dotted):
        *parents, key = dotted.split(".")
        for part in parents:
            data = data.get(part) if isinstance(data, dict) else None
        return isinstance(data, dict) and key in data

    for old, new in RENAMED_KEYS.items():
        if not holds(config, old):
            continue
        files = []
        for path in workflow.configfiles:
            try:
                with open(path) as f:
                    data = yaml.safe_load(f)
            except (OSError, yaml.YAMLError):
                continue
            if holds(data, old):
                files.append(str(path))
        where = (f"config file {', '.join(files)}" if files
                 else "set on the command line with --config")
        raise WorkflowError(f"invalid configuration: config key '{old}' was renamed to "
                            f"'{new}' ({where}); rename it there")


def _config_key(prefix, path):
    """Dotted name of a config entry: circle.fig2.widths[1]."""
    key = prefix
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def _validate_config():
    """Check the top level, then each stage's section against its own schema file, before any
    job runs. The error names the offending key with its full path (circle.fig2.widths[1])."""
    import jsonschema
    from snakemake.exceptions import WorkflowError

    checks = [("", config, "config")]
    checks += [(s, config[s], s) for s in ("circle", "mnist") if isinstance(config.get(s), dict)]
    checks += [(s, config[s], s) for s in ("datasets", "analyses") if isinstance(config.get(s), dict)]
    for prefix, data, name in checks:
        try:
            validate(data, os.path.join(workflow.basedir, f"workflow/schemas/{name}.schema.yaml"))
        except WorkflowError as err:
            e = err.__context__
            if not isinstance(e, jsonschema.ValidationError):
                raise
            here = list(e.absolute_path)
            if e.validator == "additionalProperties" and isinstance(e.instance, dict):
                known = e.schema.get("properties", {})
                bad = [_config_key(prefix, here + [k]) for k in e.instance if k not in known]
                what = (f"unknown key {', '.join(bad)} (allowed here: "
                        f"{', '.join(known) or 'none'})")
            elif e.validator == "required" and isinstance(e.instance, dict):
                what = "missing required key " + ", ".join(
                    _config_key(prefix, here + [k]) for k in e.validator_value
                    if k not in e.instance)
            else:
                what = f"{_config_key(prefix, here)}: {e.message}"
            raise WorkflowError(f"invalid configuration: {what} "
                                f"(schema: workflow/schemas/{name}.schema.yaml)") from None


_check_renamed_keys()
_validate_config()

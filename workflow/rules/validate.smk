# Configuration check, done before anything else is defined. The top level against
# workflow/schemas/config.schema.yaml, then each stage's section against its own schema file.
# (Kept out of the Snakefile so that no snakefile mixes functions and rules: snakemake --lint.)

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


_validate_config()

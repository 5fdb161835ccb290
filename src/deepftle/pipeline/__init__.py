"""What the Snakemake pipeline's jobs share: result files and their provenance (:mod:`.files`),
per-job seeds (:mod:`.seeds`), the job's device and GPU locks (:mod:`.devices`) and claims
tables (:mod:`.claims`). Imports no networks and no problem."""

"""The checks, run by the checker on a handle to the learner's process (remote.Learner): `common` holds
the comparisons and the finite-difference gradient check with its diagnoses; one module per lab holds its
fixed inputs, its per-function checks and its training run; `digits` and `charlm` the training loops two
labs share (see `labs.implement.tasks` for the stages)."""

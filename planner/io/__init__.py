"""All file reading and writing of the planner (读写): inputs, norms, scenarios, outputs."""

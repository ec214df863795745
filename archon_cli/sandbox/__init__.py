"""Running generated code: the confined runner (bubblewrap), the pool that spreads runs over
threads or Ray tasks, and the pure text work that turns model output into a program."""

"""One job (`job.run`): initialisation, training under supervision (locks, its CPU budget, signals,
checkpoints, divergence), loggers."""

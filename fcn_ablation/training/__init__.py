"""One job (`job.run`): initialisation, training under supervision (locks, CPU budget, signals,
checkpoints, divergence), loggers."""

"""One job (`job.run`): initialisation, training under supervision (its CPU budget, signals,
checkpoints, divergence; its lock is the store's), loggers."""

"""Results at rest: the record store (files, names, job identity, row labels) and the paper's own tables."""

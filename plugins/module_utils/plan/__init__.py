"""A node's run as data: what it wants, what it would leave, never weaker than now, every write."""

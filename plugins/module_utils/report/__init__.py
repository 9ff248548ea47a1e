"""The node audit (every control judged against what was observed) and the reports made of it."""

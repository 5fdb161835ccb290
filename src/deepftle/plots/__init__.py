"""Figures: one module per figure; plotting only (reads result files, writes PDF + PNG)."""

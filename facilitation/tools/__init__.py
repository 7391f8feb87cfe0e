"""The command line: serve, doctor, demo, loadtest, analyze, export, import-polis."""

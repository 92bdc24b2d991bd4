"""Reports: execute the notebooks into ``reports/`` (``runner``), build the leaderboard from their metrics
files (``leaderboard``), and keep notebook sources free of outputs (``hygiene``).

    python -m digits.reports run [NOTEBOOK ...] [--profile full|smoke] [--set NAME=VALUE ...]
    python -m digits.reports leaderboard      # reports/README.md + the README results block
    python -m digits.reports strip            # nbstripout the notebook sources, keeping nbval's references
    python -m digits.reports references       # refresh nbval's reference outputs (runs the smoke profile)
"""

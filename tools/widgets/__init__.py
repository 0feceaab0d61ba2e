"""Training tools for the learned widget detector (models/widgets.py): synthetic screens rendered in Chromium
(synth.py) and the training/evaluation/export script (train.py). Set-up time only: never imported at run time."""

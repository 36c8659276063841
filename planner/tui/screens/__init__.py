"""One module per screen of the PathLab app; the app imports each lazily when it is first shown."""

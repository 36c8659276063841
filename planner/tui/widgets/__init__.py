"""One module per reusable widget of the PathLab app."""

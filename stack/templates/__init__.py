"""Project templates shipped with stack (`stack init --template NAME`): one directory each,
with a one-line DESCRIPTION file."""

"""`python -m goloop` runs the same command line as the installed `goloop` script."""
from goloop.cli import main

if __name__ == "__main__":
    main(prog_name="goloop")

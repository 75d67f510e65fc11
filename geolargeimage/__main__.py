"""``python -m geolargeimage``: the command line (see :mod:`geolargeimage.cli`)."""

from geolargeimage.cli import main

if __name__ == '__main__':
    main(prog_name='geolargeimage')

"""An experiment's figures in its smoke test: built and closed by default, drawn to PNG files with -m slow.

Drawing a figure (constrained layout, tick labels, then the PNG) takes this
machine half a second to a second, more than the rest of most quick runs.
So a smoke test runs twice, parametrized over ``DRAW``: in the default suite
the experiment builds every figure as usual but its ``save_figure`` only
records what it was given and closes it; under -m slow the same test draws
and writes the real PNG files (and where the default run also shrinks the
quick grid, the slow one is the whole quick run).

    @pytest.mark.parametrize("draw", DRAW)
    def test_quick_main(tmp_path, draw):
        with saving_figures(draw, experiment) as figs:
            experiment.main(tmp_path, quick=True)
        assert figs.names(tmp_path) == ["x.csv", "x.md", "x.png"]
        figs.check(tmp_path / "x.png")
"""

import contextlib
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

PNG = b"\x89PNG\r\n\x1a\n"

#: The two runs of a smoke test: figures built (default suite), figures drawn (-m slow).
DRAW = [pytest.param(False, id="figures-built"), pytest.param(True, id="figures-drawn", marks=pytest.mark.slow)]


class Figures:
    """What became of an experiment's figures: drawn to files, or built and closed (``built``: name -> axes)."""

    def __init__(self, draw: bool):
        self.draw = draw
        self.built: dict[str, int] = {}

    def _build(self, fig, path):
        """Stands in for ``chainopt.experiments._io.save_figure``: record the figure, close it, draw nothing."""
        assert fig.axes, f"{path}: a figure without axes"
        self.built[Path(path).name] = len(fig.axes)
        plt.close(fig)
        return path

    def names(self, folder) -> list[str]:
        """The files in ``folder``, and the figures that would have been drawn there, sorted."""
        return sorted({p.name for p in Path(folder).iterdir()} | set(self.built))

    def check(self, path) -> None:
        """A drawn figure is a PNG file; a built one had axes, was closed, and left no file."""
        path = Path(path)
        if self.draw:
            assert path.read_bytes()[:8] == PNG
        else:
            assert self.built[path.name] > 0 and not path.exists()


@contextlib.contextmanager
def saving_figures(draw: bool, *modules):
    """Within the block, each experiment module of ``modules`` draws its figures only if ``draw``."""
    figs = Figures(draw)
    with pytest.MonkeyPatch.context() as mp:
        if not draw:
            for module in modules:
                mp.setattr(module, "save_figure", figs._build)
        yield figs

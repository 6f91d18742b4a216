import pytest

from dockui import format as fmt


@pytest.mark.parametrize(
    ("n", "docker_says"),
    [(0, "0B"), (15, "15B"), (3216, "3.22kB"), (1982256, "1.98MB"), (5_060_000, "5.06MB"),
     (1_050_000_000, "1.05GB"), (999, "999B")],
)  # fmt: skip
def test_sizes_have_the_figures_docker_prints(n, docker_says):
    # `docker history` prints go-units HumanSize (3 significant digits, decimal units);
    # we print the same figures with a space.
    assert fmt.size(n).replace(" ", "") == docker_says


def test_durations():
    assert fmt.short_duration(5) == "5s"
    assert fmt.short_duration(3700) == "1h"
    assert fmt.short_duration(15 * 86400) == "2w"
    assert fmt.duration(300) == "5 minutes"
    assert fmt.ago(100.0, now=400.0) == "5 minutes ago"


def test_cpu_fits_the_column_on_many_cores() -> None:
    from dockui import format as fmt

    assert fmt.cpu(None) == ""
    assert fmt.cpu(0.0) == "0.0%"
    assert fmt.cpu(12.345) == "12.3%"
    assert fmt.cpu(99.94) == "99.9%"
    assert fmt.cpu(99.96) == "100%"
    assert fmt.cpu(1532.4) == "1532%"
    assert max(len(fmt.cpu(x / 10)) for x in range(0, 1_000_000, 997)) <= 6  # the column

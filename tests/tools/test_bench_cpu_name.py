"""The machine line of every timing bench names the CPU: the probe alone cannot tell a host whose int8 kernels have
VNNI from one without."""

from omnirt.tools.bench.report import cpu_name, probe_line

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
flags\t\t: fpu sse avx2 avx512f avx512_vnni avx_vnni

processor\t: 1
model name\t: AMD EPYC
"""


def test_the_cpu_is_named_with_its_family_and_int8_extensions() -> None:
    name = cpu_name(CPUINFO)
    assert name.startswith("AMD EPYC (family 26 model 2), ") and name.endswith("avx2 avx512f avx512_vnni avx_vnni")
    assert cpu_name("model name\t: Old\nflags\t\t: fpu sse\n").endswith("no AVX2")
    assert cpu_name("").startswith("unknown CPU")


def test_the_probe_line_carries_the_cpu() -> None:
    line = probe_line(8.2, 7.5)
    assert line.startswith("machine: CPU probe 8.2 ms before, 7.5 ms after") and " cores, " in line

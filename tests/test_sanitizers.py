"The sparse path's C row kernels and the Gibbs sampler's row draws under the compiler's sanitizers: no out-of-bounds access, undefined behaviour or data race on edge sizes, one thread or two"
import os, subprocess
from pathlib import Path
import pytest
from fastai_dotbias.sparse import _row_src
from fastai_dotbias.draws import _draws_src
from fastai_dotbias.kernels import _tuned, _cc

cc = _cc()
here = Path(__file__).parent
kernels = {'rows': (_row_src, here/'kernel_driver.c'), 'draws': (_draws_src, here/'draws_driver.c')}   # each driver prints 12 lines ending ' ok'

@pytest.mark.parametrize('kernel', list(kernels))
@pytest.mark.parametrize('sanitizer', ['address,undefined', 'thread'])
def test_kernels_sanitized(tmp_path, sanitizer, kernel):
    if not cc: pytest.skip('no C compiler')
    src,driver = kernels[kernel]
    (tmp_path/'rows.c').write_text(src); (tmp_path/'empty.c').write_text('int main(void) { return 0; }\n')
    exe = tmp_path/'driver'
    flags = ['-O1', '-g', f'-fsanitize={sanitizer}', '-fno-omit-frame-pointer', '-fno-sanitize-recover=all', *_tuned, '-pthread']
    probe = subprocess.run([cc, *flags, str(tmp_path/'empty.c'), '-o', str(tmp_path/'empty')], capture_output=True, text=True)
    if probe.returncode: pytest.skip(f'{Path(cc).name} cannot build with -fsanitize={sanitizer}: {(probe.stderr.strip().splitlines() or ["?"])[0]}')
    build = subprocess.run([cc, *flags, str(tmp_path/'rows.c'), str(driver), '-lm', '-o', str(exe)], capture_output=True, text=True)
    assert build.returncode==0, build.stderr[-4000:]   # the compiler takes the sanitizer: the kernels and the driver must build
    res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env={**os.environ, 'TSAN_OPTIONS': 'halt_on_error=1', 'ASAN_OPTIONS': 'detect_leaks=1'})
    assert res.returncode==0 and 'Sanitizer' not in res.stderr, res.stdout[-2000:] + res.stderr[-4000:]
    assert res.stdout.count(' ok\n')==12, res.stdout

def test_kernels_build_tuned(tmp_path):
    "Every kernel builds with this machine's vector flags (`_tuned`) where an empty program does: `_compile` falls back to a plain build without a word when they fail, which once hid a kernel that did not compile with them"
    from fastai_dotbias.kernels import _build
    from fastai_dotbias.dense import _dense_src
    from fastai_dotbias.records import _records_src
    if not cc: pytest.skip('no C compiler')
    flags = ['-O3', '-fno-math-errno', '-shared', '-fPIC', '-pthread', *_tuned]
    if _build(cc, flags, tmp_path, tmp_path/'empty.so', 'int f(void) { return 0; }\n'): pytest.skip(f'{Path(cc).name} does not take {_tuned}')
    for name,src in dict(rows=_row_src, dense=_dense_src, records=_records_src, draws=_draws_src).items():
        assert _build(cc, flags, tmp_path, tmp_path/f'{name}.so', src) is None, name

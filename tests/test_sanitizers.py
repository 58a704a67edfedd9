"The sparse path's C row kernels under the compiler's sanitizers: no out-of-bounds access, undefined behaviour or data race on edge sizes, one thread or two"
import os, subprocess
from pathlib import Path
import pytest
from fastai_dotbias.sparse import _row_src
from fastai_dotbias.kernels import _tuned, _cc

cc = _cc()
driver = Path(__file__).parent/'kernel_driver.c'

@pytest.mark.parametrize('sanitizer', ['address,undefined', 'thread'])
def test_row_kernels_sanitized(tmp_path, sanitizer):
    if not cc: pytest.skip('no C compiler')
    (tmp_path/'rows.c').write_text(_row_src); (tmp_path/'empty.c').write_text('int main(void) { return 0; }\n')
    exe = tmp_path/'driver'
    flags = ['-O1', '-g', f'-fsanitize={sanitizer}', '-fno-omit-frame-pointer', '-fno-sanitize-recover=all', *_tuned, '-pthread']
    probe = subprocess.run([cc, *flags, str(tmp_path/'empty.c'), '-o', str(tmp_path/'empty')], capture_output=True, text=True)
    if probe.returncode: pytest.skip(f'{Path(cc).name} cannot build with -fsanitize={sanitizer}: {(probe.stderr.strip().splitlines() or ["?"])[0]}')
    build = subprocess.run([cc, *flags, str(tmp_path/'rows.c'), str(driver), '-lm', '-o', str(exe)], capture_output=True, text=True)
    assert build.returncode==0, build.stderr[-4000:]   # the compiler takes the sanitizer: the kernels and the driver must build
    res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env={**os.environ, 'TSAN_OPTIONS': 'halt_on_error=1', 'ASAN_OPTIONS': 'detect_leaks=1'})
    assert res.returncode==0 and 'Sanitizer' not in res.stderr, res.stdout[-2000:] + res.stderr[-4000:]
    assert res.stdout.count(' ok\n')==12, res.stdout

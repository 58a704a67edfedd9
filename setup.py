"Classic nbdev setup.py: metadata from settings.ini, the version from fastai_dotbias/__init__.py."
import re
from configparser import ConfigParser
from pathlib import Path
from setuptools import setup, find_namespace_packages

here = Path(__file__).parent
cfg = ConfigParser(delimiters=['='])
cfg.read(here/'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']
version = re.search(r'^__version__\s*=\s*[\'"]([^\'"]+)[\'"]', (here/cfg['lib_path']/'__init__.py').read_text(), re.M)[1]

licenses = dict(apache2='Apache-2.0')   # SPDX expressions (license classifiers are deprecated)
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
lic = licenses[cfg['license']]
# every `<name>_requirements` key of settings.ini is an extra; `dev` installs them all
extras = {k[:-len('_requirements')]: cfg[k].split() for k in cfg if k.endswith('_requirements') and k not in ('requirements', 'dev_requirements')}
readme = here/'README.md'

setup(
    name=cfg['lib_name'], version=version, description=cfg['description'],
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else cfg['description'],
    long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'], license=lic,
    keywords=cfg['keywords'].split(), url=f"https://github.com/{cfg['user']}/{cfg['repo']}",
    classifiers=[f"Development Status :: {statuses[int(cfg['status'])]}", f"Intended Audience :: {cfg['audience']}",
                 f"Natural Language :: {cfg['language']}",
                 f"Programming Language :: Python :: 3 :: Only"],
    python_requires=f">={cfg['min_python']}",
    packages=find_namespace_packages(include=[cfg['lib_path'], f"{cfg['lib_path']}.*"], exclude=['*__pycache__*']),   # namespace: the sample's folder is package data
    include_package_data=True,
    package_data={cfg['lib_path']: ['data/sample/*']},
    install_requires=cfg['requirements'].split(),
    extras_require={**extras, 'dev': cfg['dev_requirements'].split() + [r for v in extras.values() for r in v]},
    entry_points={'console_scripts': cfg['console_scripts'].split(), 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)

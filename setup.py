"""Ship the top-level rules/ docs inside the wheel as dockerlint_ml/rules (see dockerlint_ml/docs.py)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithRuleDocs(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "dockerlint_ml" / "rules"
        target.mkdir(parents=True, exist_ok=True)
        for doc in sorted(Path(__file__).resolve().parent.joinpath("rules").glob("ML*.md")):
            shutil.copy2(doc, target / doc.name)


setup(cmdclass={"build_py": BuildWithRuleDocs})

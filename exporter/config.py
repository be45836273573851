"""`goloop export`'s configuration: KataGo's export_model_for_selfplay.sh, as keys.

KataGo's exporter is a shell loop around export_model_pytorch.py (-use-swa, -filename-prefix
model) and clean_checkpoint.py, configured by positional arguments (NAMEPREFIX BASEDIR
USEGATING); each becomes a key here, named as the KataGo scripts name the variable, so that
`--help` and config files speak the same words (spec: directory-protocol.md §3).
"""
from __future__ import annotations

from dataclasses import dataclass

from goloop.common.config import ConfigError, setting
from goloop.common.nn.modelfile.read import is_valid_model_name


@dataclass(frozen=True)
class ExporterConfig:
    """Everything `goloop export` reads."""

    base_dir: str = setting("", "The run's BASEDIR: checkpoints come from "
                            "BASEDIR/torchmodels_toexport/, models go to BASEDIR/models/ or "
                            "BASEDIR/modelstobetested/. Set with --base-dir.", key="baseDir")
    name_prefix: str = setting("", "Run name (KataGo's NAMEPREFIX): the name stored inside each "
                               "model file is <prefix>-<NAME>. Set with --name-prefix.",
                               key="namePrefix")
    use_gating: bool = setting(False, "Publish into modelstobetested/ for the gatekeeper instead "
                               "of straight into models/ (KataGo's USEGATING).", key="useGating")
    model_version: int = setting(15, "KataGo model-file version written (15 is what KataGo's "
                                 "exporter writes for these nets).", min=8, max=17,
                                 key="modelVersion")
    use_swa: bool = setting(True, "Export the checkpoint's EMA/SWA weights when it has them "
                            "(export_model_pytorch.py -use-swa, as KataGo's loop does); else "
                            "the raw training weights.", key="useSwa")
    poll_seconds: float = setting(10.0, "Seconds between looks at torchmodels_toexport/ "
                                  "(KataGo's export loop sleeps 10 s).", min=0.1,
                                  key="pollSeconds")
    publish_delay_seconds: float = setting(0.0, "Pause before the final rename (KataGo sleeps 5 s "
                                           "so that slow shared filesystems settle; a rename "
                                           "is atomic anyway).", min=0.0,
                                           key="publishDelaySeconds")

    def __post_init__(self):
        if self.name_prefix and not is_valid_model_name(self.name_prefix):
            raise ConfigError(f"namePrefix {self.name_prefix!r}: a model name may hold only "
                              "letters, digits, '_' and '-' (at most 96 characters with the "
                              "exported NAME)")

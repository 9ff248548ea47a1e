"""Secrets masked by structure, not by line: k3s' config.yaml (k3s_config.masked), containerd's
config.toml (containerd.mask_secrets) and YAML parse errors of files that hold keys or tokens. Each
table is a form a credential can take; the secret string must never reach the output, and what is
not a credential must stay as it was (the diff stays useful)."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import k3s_config
from ansible_collections.kubeguard.hardening.plugins.module_utils.observe import containerd
from ansible_collections.kubeguard.hardening.plugins.module_utils.base.yaml_support import error_summary
from ansible_collections.kubeguard.hardening.plugins.module_utils.model import hardening_vars as hv

SECRET = "K10deadbeef::server:Sup3rS3cret"

HEAD = "# provisioning wrote this\nwrite-kubeconfig-mode: \"0600\"\n"
TAIL = "# the kubelet's flags\nkubelet-arg:\n  - 'max-pods=110'   # a comment\nnode-label: [zone=a]\n"

K3S_FORMS = {
    "plain": f"token: {SECRET}\n",
    "plain with comment": f"token: {SECRET}   # join token\n",
    "double quoted": f'token: "{SECRET}"\n',
    "single quoted": f"token: '{SECRET}'\n",
    "value on the next line": f"token:\n  {SECRET}\n",
    "value two lines down after a comment": f"token:\n  # the join token\n  {SECRET}\n",
    "plain scalar over two lines": "token: K10deadbeef::server\n  Sup3rS3cret\n",
    "literal block": f"agent-token: |\n  {SECRET}\n",
    "folded block strip": f"agent-token: >-\n  {SECRET}\n",
    "folded block keep, blank lines": f"agent-token: >+\n  {SECRET}\n\n",
    "block with indentation indicator": f"token: |2\n  {SECRET}\n",
    "double quoted over lines": 'token: "K10deadbeef::server:\\\n  Sup3rS3cret"\n',
    "quoted key": f'"token": {SECRET}\n',
    "escaped quoted key": f'"tok\\x65n": {SECRET}\n',
    "flow list": f"token: [{SECRET}]\n",
    "block list": f"token:\n  - {SECRET}\n",
    "flow mapping": f"token: {{value: {SECRET}}}\n",
    "nested mapping": f"token:\n  value:\n    deep: {SECRET}\n",
    "datastore endpoint": "datastore-endpoint: postgres://k3s:Sup3rS3cret@db:5432/k3s\n",
    "datastore endpoint block": "datastore-endpoint: >-\n  mysql://k3s:Sup3rS3cret@tcp(db:3306)/k3s\n",
    "s3 secret key": f"etcd-s3-secret-key: {SECRET}\n",
    "s3 access key, tab-free indentation": f"etcd-s3-access-key:\n    {SECRET}\n",
    "vpn auth": f"vpn-auth: \"name=tailscale,joinKey={SECRET}\"\n",
    "url with credentials under another key": "etcd-s3-proxy: http://proxy:Sup3rS3cret@proxy.lan:3128\n",
    "nested credential key under another key": f"extra:\n  nested:\n    password: {SECRET}\n",
    "credential flag in a list": f"kube-apiserver-arg:\n  - 'token={SECRET}'\n",
    "anchor used by the token": f"anchor-holder: &tok {SECRET}\ntoken: *tok\n",
    "complex key": f"? token\n: {SECRET}\n",
    "windows line ends": f"token:\r\n  {SECRET}\r\n",
    "no final line break": f"token: |\n  {SECRET}",
}


@pytest.mark.parametrize("form", sorted(K3S_FORMS))
def test_k3s_credentials_are_hidden_whatever_their_yaml_form(form):
    body = K3S_FORMS[form]
    if not body.endswith("\n"):
        body += "\n" if form != "no final line break" else ""
        assert k3s_config.masked(body) == "token: (hidden)"
        body += "\n"
    for text in (HEAD + body + TAIL, body, HEAD + body):
        shown = k3s_config.masked(text)
        assert "Sup3rS3cret" not in shown and "deadbeef" not in shown, (form, shown)
        assert "(hidden)" in shown
    shown = k3s_config.masked(HEAD + body + TAIL)
    # everything that is not the credential stays byte for byte
    for kept in (HEAD + TAIL).splitlines():
        assert kept in shown.splitlines(), (form, kept, shown)


def test_k3s_masking_keeps_other_keys_and_comments_in_place():
    text = (HEAD + f"token:   # joins servers\n  {SECRET}\n# between\nagent-token: >-\n  {SECRET}\n\n" + TAIL)
    shown = k3s_config.masked(text)
    assert shown == (HEAD + "token: (hidden)\n# between\nagent-token: (hidden)\n" + TAIL)


def test_k3s_commented_out_credentials_are_hidden_too():
    text = f"# token: {SECRET}\n  #  agent-token:   '{SECRET}'\r\n# the token is below\ntoken: x\n"
    assert k3s_config.masked(text) == "# token: (hidden)\n  #  agent-token: (hidden)\r\n# the token is below\ntoken: (hidden)\n"
    assert k3s_config.masked(f"# only comments\n#datastore-endpoint: mysql://u:{SECRET}@db\n") == \
        "# only comments\n#datastore-endpoint: (hidden)\n"


def test_k3s_text_without_credentials_is_unchanged():
    for text in (HEAD + TAIL, "", "\n", "# only a comment\n", HEAD + TAIL.rstrip("\n")):
        assert k3s_config.masked(text) == text


@pytest.mark.parametrize("text", [
    f"write-kubeconfig-mode: '0600'\ntoken: {SECRET}\n  bad: indentation\n",         # not YAML
    f"write-kubeconfig-mode: '0600'\ntoken: \"{SECRET}\n",                           # unterminated
    f"write-kubeconfig-mode: '0600'\ntoken: {SECRET}\n---\nsecond: document\n",      # two documents
    f"write-kubeconfig-mode: '0600'\n- token: {SECRET}\n",                           # not one mapping
    f"- write-kubeconfig-mode\n- {SECRET}\n- token\n",                               # a list, not a mapping
])
def test_k3s_text_that_is_not_one_yaml_mapping_is_hidden_from_the_first_doubtful_line(text):
    shown = k3s_config.masked(text)
    assert "Sup3rS3cret" not in shown and "(the rest is hidden" in shown
    if text.startswith("write"):
        assert shown.startswith("write-kubeconfig-mode: '0600'\n")


def test_k3s_changes_and_diff_of_an_edit_never_show_the_token():
    before = f"token: >-\n  {SECRET}\nkubelet-arg:\n  - max-pods=110\n"
    after, changes = k3s_config.edit(before, {"kubelet-arg": {"read-only-port": "0"}}, {})
    for shown in (k3s_config.masked(before), k3s_config.masked(after), "\n".join(changes)):
        assert "Sup3rS3cret" not in shown
    assert "read-only-port=0" in k3s_config.masked(after)


@pytest.mark.parametrize("text", [
    f"token: {SECRET}\n  bad: indentation\n",
    f"token: \"{SECRET}\n",
    f"token: *{SECRET}\n",
    f"token: !{SECRET} x\n",
    f"token: {SECRET}\n\tx: 1\n",
    f"token: [{SECRET}\n",
])
def test_k3s_parse_errors_name_the_line_not_its_text(text):
    with pytest.raises(k3s_config.K3sConfigError) as raised:
        k3s_config.edit(text, {"kubelet-arg": {"read-only-port": "0"}}, {})
    message = str(raised.value)
    assert "Sup3rS3cret" not in message and "deadbeef" not in message, message
    assert "line " in message


# --- containerd's config.toml ------------------------------------------------------------------------------

CONFIG_HEAD = 'version = 2\n\n[grpc]\n  address = "/run/containerd/containerd.sock"   # the socket\n'
REGISTRY = '[plugins."io.containerd.grpc.v1.cri".registry.configs."registry.example".auth]\n'

TOML_FORMS = {
    "basic string": REGISTRY + f'  password = "{SECRET}"\n',
    "literal string": REGISTRY + f"  password = '{SECRET}'\n",
    "multi-line basic": REGISTRY + '  password = """\nK10deadbeef::server:\nSup3rS3cret"""\n',
    "multi-line basic, quotes inside": REGISTRY + '  password = """a "quoted" Sup3rS3cret\n"more" deadbeef"""\n',
    "multi-line basic, escaped quotes": REGISTRY + '  password = """a \\"""\nSup3rS3cret deadbeef"""\n',
    "multi-line literal": REGISTRY + "  password = '''\nK10deadbeef::server:\nSup3rS3cret'''\n",
    "multi-line literal, closing quotes extra": REGISTRY + "  password = '''Sup3rS3cret\ndeadbeef'''''\n",
    "identity token": REGISTRY + f'  identitytoken = "{SECRET}"\n',
    "auth (base64 user:password)": REGISTRY + f'  auth = "{SECRET}"\n',
    "token": '[plugins."io.containerd.grpc.v1.cri".registry]\n' + f'  token = "{SECRET}"\n',
    "secret": f'[proxy]\n  client_secret = "{SECRET}"\n',
    "inline table under auth": '[plugins."io.containerd.grpc.v1.cri".registry.configs."r.example"]\n'
                               + f'  auth = {{ username = "u", password = "{SECRET}" }}\n',
    "inline table nested in another key": '[plugins."io.containerd.grpc.v1.cri".registry]\n'
                                          + f'  configs = {{ "r.example" = {{ auth = {{ password = "{SECRET}" }} }} }}\n',
    "dotted key": '[plugins."io.containerd.grpc.v1.cri".registry.configs."r.example"]\n'
                  + f'  auth.password = "{SECRET}"\n',
    "quoted key": REGISTRY + f'  "password" = "{SECRET}"\n',
    "escaped quoted key": REGISTRY + f'  "pass\\u0077ord" = "{SECRET}"\n',
    "array of secrets over lines": f'[x]\n  tokens = [\n    "{SECRET}",  # one\n    "deadbeef",\n  ]\n',
    "inline table in an array": f'[x]\n  registries = [ {{ host = "r", password = "{SECRET}" }} ]\n',
    "top-level secret": f'secret = "{SECRET}"\n',
    "no final line break": REGISTRY + f'  password = """{SECRET}\ndeadbeef"""',
}


@pytest.mark.parametrize("form", sorted(TOML_FORMS))
def test_containerd_credentials_are_hidden_whatever_their_toml_form(form):
    import tomllib
    body = TOML_FORMS[form]
    text = CONFIG_HEAD + body + '\n[metrics]\n  address = "127.0.0.1:1338"\n' if not form.startswith("no final") \
        else CONFIG_HEAD + body
    tomllib.loads(text)      # every form is valid TOML
    shown = containerd.mask_secrets(text)
    assert "Sup3rS3cret" not in shown and "deadbeef" not in shown, (form, shown)
    assert "<hidden>" in shown
    for kept in CONFIG_HEAD.splitlines():
        assert kept in shown.splitlines(), (form, shown)
    if not form.startswith("no final"):
        assert shown.endswith('\n[metrics]\n  address = "127.0.0.1:1338"\n')
        tomllib.loads(shown)  # still TOML: the diff reads like the file


def test_containerd_masking_keeps_everything_else_byte_for_byte():
    text = (CONFIG_HEAD + REGISTRY + '  username = "robot"   # who\n  password = """\nSup3rS3cret\n"""  # what\n'
            + '[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n  endpoint = ["https://m.lan"]\n')
    # every value of a table named for a credential ([...auth]) is hidden, its username too
    assert containerd.mask_secrets(text) == (
        CONFIG_HEAD + REGISTRY + '  username = "<hidden>"   # who\n  password = "<hidden>"  # what\n'
        + '[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n  endpoint = ["https://m.lan"]\n')
    other = CONFIG_HEAD + '[registry.configs."r".tls]\n  insecure_skip_verify = false # no\n  password = \'x\'\n'
    assert containerd.mask_secrets(other) == (
        CONFIG_HEAD + '[registry.configs."r".tls]\n  insecure_skip_verify = false # no\n  password = "<hidden>"\n')


def test_containerd_commented_out_credentials_are_hidden_too():
    text = CONFIG_HEAD + f'[x]\n  # password = "{SECRET}"\r\n  #token="{SECRET}" # old\n  # a comment = fine\n'
    assert containerd.mask_secrets(text) == (
        CONFIG_HEAD + '[x]\n  # password = "<hidden>"\r\n  #token = "<hidden>"\n  # a comment = fine\n')


def test_containerd_text_without_credentials_is_unchanged():
    text = CONFIG_HEAD + '[plugins."x"]\n  list = [\n    "a", # c\n    { k = "v" },\n  ]\n  s = """x\ny"""\n'
    assert containerd.mask_secrets(text) == text


@pytest.mark.parametrize("message", [
    f"cannot read the TOML line 'password \"{SECRET}\"'",
    f"password = \"\"\"{SECRET}\nSup3rS3cret",           # unterminated: the rest is hidden
    f"x = [\npassword = {SECRET}",
    "password = " + "[" * 5000 + SECRET,
    f"x = [[[[\n  password = {SECRET}\n",
])
def test_containerd_text_that_is_not_toml_hides_from_the_first_credential(message):
    assert "Sup3rS3cret" not in containerd.mask_secrets(message)


def test_containerd_error_messages_without_credentials_stay_readable():
    for message in ("not valid TOML: Invalid value (at line 3, column 10)",
                    "containerd config version 1 is not supported: convert it"):
        assert containerd.mask_secrets(message) == message


# --- YAML errors of files holding keys ---------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    f"resources:\n  - providers:\n      - aescbc:\n          keys:\n            - name: key1\n              secret: {SECRET}\n     bad: 1\n",
    f"resources: [{{secret: \"{SECRET}}}\n",
    f"secret: *{SECRET}\n",
    f"secret: !{SECRET} x\n",
    f"secret: {SECRET}\x01\n",
    f"secret: {SECRET}\n\tkey: 1\n",
])
@pytest.mark.parametrize("loader", ["SafeLoader", "CSafeLoader"])
def test_yaml_error_summary_names_the_line_never_its_text(text, loader):
    if not hasattr(yaml, loader):
        pytest.skip("no libyaml")
    with pytest.raises(yaml.YAMLError) as raised:
        yaml.load(text, Loader=getattr(yaml, loader))
    summary = error_summary(raised.value)
    assert "Sup3rS3cret" not in summary and "deadbeef" not in summary, summary
    assert " line " in summary or " character " in summary, summary


@pytest.mark.parametrize("text", [
    f"token: &x\n  - *x\n  - {SECRET}\n",                          # a recursive structure
    "a:\n" + "".join("  " * n + "- \n" for n in range(1, 3000)) + f"token: {SECRET}\n",   # deeper than Python recurses
    "token: " + "[" * 5000 + SECRET,
])
def test_k3s_masking_survives_pathological_yaml(text):
    assert "Sup3rS3cret" not in k3s_config.masked(text)


# --- every reader of an encryption config (and of k3s' config.yaml) reports the line, never its text ------

BROKEN_ENCRYPTION = ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
                     "  - resources: [secrets]\n    providers:\n      - secretbox:\n          keys:\n"
                     f"            - name: key1\n              secret: \"{SECRET}\n      - identity: {{}}\n")


def _no_secret(message: str) -> None:
    assert "Sup3rS3cret" not in message and "deadbeef" not in message, message
    assert "line " in message, message


def test_key_rotation_reports_a_broken_encryption_config_by_line():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import key_rotation
    with pytest.raises(key_rotation.RotationError) as raised:
        key_rotation.rotation_config([BROKEN_ENCRYPTION], 0, "secretbox", "stage")
    _no_secret(str(raised.value))
    assert "control plane 1" in str(raised.value)


@pytest.mark.parametrize("call", ["config", "staged"])
def test_encryption_filters_report_a_broken_config_by_line(call):
    from ansible.errors import AnsibleFilterError
    from ansible_collections.kubeguard.hardening.plugins.filter import hardening
    with pytest.raises(AnsibleFilterError) as raised:
        if call == "config":
            hardening.kubeguard_encryption_config([BROKEN_ENCRYPTION], hv.validate({"kube_encrypt_secret_data": True}))
        else:
            target = {"resources": [{"resources": ["secrets"], "providers": [{"secretbox": {"keys": []}}]}]}
            hardening.kubeguard_encryption_staged(target, [BROKEN_ENCRYPTION])
    _no_secret(str(raised.value))


def test_node_plan_reports_a_broken_encryption_config_by_line(tmp_path):
    from ansible_collections.kubeguard.hardening.plugins.module_utils.plan import node_plan
    path = tmp_path / "encryption-config.yaml"
    path.write_text(BROKEN_ENCRYPTION)
    with pytest.raises(ValueError) as raised:
        node_plan.encryption_state({"path": str(path), "algorithm": "secretbox", "resources": ["secrets"]})
    _no_secret(str(raised.value))


def test_k3s_dropin_parse_errors_name_the_line_not_its_text():
    from ansible_collections.kubeguard.hardening.plugins.module_utils.formats import k3s_effective
    with pytest.raises(k3s_config.K3sConfigError) as raised:
        k3s_effective.load_options("config.yaml.d/10-join.yaml", f"token: \"{SECRET}\n")
    _no_secret(str(raised.value))
    assert "10-join.yaml" in str(raised.value)

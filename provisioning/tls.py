"""The hall's own certificate authority and the broker's TLS certificate.

A township hall has no public DNS name and no Internet to fetch certificates from,
so it gets a private CA, made once on the server:

    DIR/ca.crt       the hall CA; copied to every machine (/etc/qms/tls/ca.crt),
                     clients accept only a broker certificate signed by it
    DIR/ca.key       its key, 0600; never leaves the server
    DIR/broker.crt   the broker's certificate, naming every host name and address
                     devices use for the server (the [tls] table's `hosts`)
    DIR/broker.key   its key, readable by root and the broker's group only

Re-running keeps the CA (every device trusts it) and keeps the broker certificate
unless its names changed or it runs out within RENEW_DAYS; then it issues a new one.
The `cryptography` library does the work: no openssl command lines to get subtly wrong.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioning.broker import DEFAULT_BROKER_USER, ProvisioningError, _write
from queue_server.config import Hall
from queue_server.mqttlink import TLS_PORT

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
BROKER_CERT = "broker.crt"
BROKER_KEY = "broker.key"
CA_DAYS = 20 * 365  # outlives the PCs; replacing it means visiting every device
BROKER_DAYS = 5 * 365
RENEW_DAYS = 90


@dataclass(frozen=True)
class TlsSettings:
    """The hall config's [tls] table: how devices reach the broker over the LAN."""

    hosts: tuple[str, ...]
    port: int = TLS_PORT

    @classmethod
    def from_hall(cls, hall: Hall) -> TlsSettings | None:
        """None when the config has no [tls] table (plain loopback only)."""
        raw = hall.section("tls")
        if not raw:
            return None
        r = hall.reader()
        t = r.table(raw, "tls")
        r.no_extra(t, "tls", {"hosts", "port"})
        hosts = tuple(r.string(h, f"tls.hosts[{i}]")
                      for i, h in enumerate(r.array(r.required(t, "tls", "hosts"), "tls.hosts")))
        if not hosts:
            raise r.fail("tls.hosts", "name at least one host name or address of the server")
        return cls(hosts, r.integer(t.get("port", TLS_PORT), "tls.port", 1, 65535))

    @property
    def broker_url(self) -> str:
        """What devices pass as --broker: the first host, over TLS."""
        host = self.hosts[0]
        return f"mqtts://[{host}]:{self.port}" if ":" in host else f"mqtts://{host}:{self.port}"


@dataclass(frozen=True)
class TlsFiles:
    dir: Path
    hosts: tuple[str, ...]
    issued: bool  # a new broker certificate was written this run
    not_after: dt.datetime

    @property
    def ca_cert(self) -> Path:
        return self.dir / CA_CERT

    @property
    def cert(self) -> Path:
        return self.dir / BROKER_CERT

    @property
    def key(self) -> Path:
        return self.dir / BROKER_KEY


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _san(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for h in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h.strip("[]"))))
        except ValueError:
            names.append(x509.DNSName(h))
    return names


def make_ca(hall: Hall) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"QMS hall CA {hall.id}"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, hall.name),
    ])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_broker_cert(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate,
                      hosts: Sequence[str], days: int = BROKER_DAYS,
                      ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(min(now + dt.timedelta(days=days), ca.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(_san(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def cert_hosts(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(n.value) for n in san)


def load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as e:
        raise ProvisioningError(f"cannot read {path}: {e.strerror}") from None
    except ValueError:
        raise ProvisioningError(f"{path} is not a PEM certificate") from None


def provision_tls(hall: Hall, out: str | Path, hosts: Sequence[str], *,
                  broker_user: str = DEFAULT_BROKER_USER) -> TlsFiles:
    """Make the CA (once) and a broker certificate for `hosts` in `out`."""
    if not hosts:
        raise ProvisioningError("give at least one host name or address devices use for the "
                                "server ([tls] hosts in the hall config, or --host)")
    out = Path(out).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        os.chmod(out, 0o755)
    except OSError as e:
        raise ProvisioningError(f"cannot create {out}: {e.strerror}") from None
    key_owner: tuple[int, int] | None = None
    if os.geteuid() == 0:
        try:
            key_owner = (0, pwd.getpwnam(broker_user).pw_gid)
        except KeyError:
            raise ProvisioningError(f"user {broker_user!r} does not exist (install mosquitto, "
                                    f"or pass --broker-user)") from None

    ca_cert_path, ca_key_path = out / CA_CERT, out / CA_KEY
    if ca_cert_path.exists() != ca_key_path.exists():
        raise ProvisioningError(f"{out} has only one of {CA_CERT} and {CA_KEY}; restore the other "
                                f"from a backup (a new CA means re-installing every device)")
    try:
        if ca_key_path.exists():
            ca = load_cert(ca_cert_path)
            loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ProvisioningError(f"{ca_key_path} is not the hall CA's key")
            ca_key = loaded
        else:
            ca_key, ca = make_ca(hall)
            _write(ca_key_path, _pem_key(ca_key), 0o600)
            _write(ca_cert_path, _pem_cert(ca), 0o644)

        cert_path = out / BROKER_CERT
        wanted = tuple(str(n.value) for n in _san(hosts))
        current = load_cert(cert_path) if cert_path.exists() and (out / BROKER_KEY).exists() \
            else None
        if (current is not None and set(cert_hosts(current)) == set(wanted)
                and current.issuer == ca.subject
                and current.not_valid_after_utc - _now() > dt.timedelta(days=RENEW_DAYS)):
            return TlsFiles(out, wanted, False, current.not_valid_after_utc)
        key, cert = issue_broker_cert(ca_key, ca, list(hosts))
        _write(out / BROKER_KEY, _pem_key(key), 0o640, key_owner)
        _write(cert_path, _pem_cert(cert), 0o644)
    except OSError as e:
        raise ProvisioningError(f"cannot write into {out}: {e.strerror}") from None
    return TlsFiles(out, wanted, True, cert.not_valid_after_utc)

#!/usr/bin/env python3
"""Writes a NATS operator, account and user for a test server in operator mode.

    mkcreds.py DIR

DIR/operator.conf   nats-server config lines: operator JWT, system account,
                    resolver MEMORY, resolver_preload with both account JWTs
                    (the test account with JetStream enabled)
DIR/user.creds      the user's credentials file (user JWT + nkey seed)
DIR/user.seed       the user's seed alone (for tests that look for leaks)
DIR/rogue.creds     a user signed by an account the server does not know
DIR/wrongseed.creds the good user's JWT with another user's seed

NKeys (ed25519 keys in NATS' base32 + CRC16 text form) and JWTs (header and
claims in base64url JSON, signed with the issuer's nkey, alg "ed25519-nkey")
are made here from the `cryptography` package's Ed25519 (Debian:
python3-cryptography), so no NATS tool is needed.
"""
import base64
import hashlib
import json
import os
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX_SEED = 18 << 3
PREFIX = {"operator": 14 << 3, "account": 0, "user": 20 << 3}


def crc16(data):  # CRC-16/XMODEM, as nkeys uses
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def encode(raw):
    raw += crc16(raw).to_bytes(2, "little")
    return base64.b32encode(raw).decode().rstrip("=")


class NKey:
    def __init__(self, kind):
        self.kind = kind
        self.raw_seed = os.urandom(32)
        self.key = Ed25519PrivateKey.from_private_bytes(self.raw_seed)
        pub = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public = encode(bytes([PREFIX[kind]]) + pub)
        p = PREFIX[kind]
        self.seed = encode(bytes([PREFIX_SEED | (p >> 5), (p & 31) << 3]) + self.raw_seed)


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(issuer, subject, name, nats):
    claims = {"iat": int(time.time()), "iss": issuer.public, "name": name, "sub": subject.public,
              "nats": dict(nats, version=2)}
    body = json.dumps(claims, sort_keys=True).encode()
    claims["jti"] = base64.b32encode(hashlib.sha256(body).digest()).decode().rstrip("=")
    head = b64url(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = (head + "." + payload).encode()
    return head + "." + payload + "." + b64url(issuer.key.sign(signing_input))


def creds(user_jwt, seed):
    return ("-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n"
            "NKEYs are sensitive and should be treated as secrets.\n\n"
            "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n\n"
            "*************************************************************\n" % (user_jwt, seed))


UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
             "wildcards": True, "conn": -1, "leaf": -1,
             "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


def user_jwt(account, user):
    return jwt(account, user, "kvw-test-user",
               {"type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1})


def main(out):
    operator, account, user = NKey("operator"), NKey("account"), NKey("user")
    system = NKey("account")  # JetStream needs the server's system account
    op_jwt = jwt(operator, operator, "kvw-test-operator",
                 {"type": "operator", "system_account": system.public})
    acc_jwt = jwt(operator, account, "kvw-test-account", {"type": "account", "limits": UNLIMITED})
    sys_jwt = jwt(operator, system, "SYS", {"type": "account", "limits": dict(
        UNLIMITED, mem_storage=0, disk_storage=0, streams=0, consumer=0)})
    good = user_jwt(account, user)

    def write(name, text, mode=0o600):
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    write("operator.conf", "operator: %s\nsystem_account: %s\nresolver: MEMORY\n"
          "resolver_preload: {\n  %s: %s\n  %s: %s\n}\n"
          % (op_jwt, system.public, account.public, acc_jwt, system.public, sys_jwt), 0o644)
    write("user.creds", creds(good, user.seed))
    write("user.seed", user.seed + "\n")
    rogue_account, rogue_user = NKey("account"), NKey("user")
    write("rogue.creds", creds(user_jwt(rogue_account, rogue_user), rogue_user.seed))
    write("wrongseed.creds", creds(good, NKey("user").seed))


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""A real SMTP server for the mail tests (Debian's python3-aiosmtpd): one port with STARTTLS
(AUTH PLAIN and LOGIN after it) and one with implicit TLS (AUTH LOGIN only), both requiring
AUTH with the given user and password. Both ports are chosen by the OS and printed as one JSON
line, {"msg":"listening","port":STARTTLS,"tls_port":TLS}; every accepted message is printed as
{"msg":"mail","from":...,"to":[...],"data":...}. Usage: smtp_server.py CERT KEY USER PASSWORD"""

import asyncio
import json
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult


def main():
    cert, key, user, password = sys.argv[1:5]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login.decode() == user and auth_data.password.decode() == password)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            print(json.dumps({"msg": "mail", "from": envelope.mail_from, "to": envelope.rcpt_tos,
                              "data": envelope.content.decode("utf-8", "replace")}), file=sys.stderr, flush=True)
            return "250 OK"

    common = dict(authenticator=authenticator, auth_required=True, hostname="localhost")

    async def serve():
        loop = asyncio.get_running_loop()
        starttls = await loop.create_server(
            lambda: SMTP(Handler(), tls_context=context, require_starttls=True, auth_require_tls=True, **common),
            "127.0.0.1", 0)
        implicit = await loop.create_server(
            lambda: SMTP(Handler(), auth_require_tls=False, auth_exclude_mechanism=["PLAIN"], **common),
            "127.0.0.1", 0, ssl=context)
        print(json.dumps({"msg": "listening", "port": starttls.sockets[0].getsockname()[1],
                          "tls_port": implicit.sockets[0].getsockname()[1]}, separators=(",", ":")), file=sys.stderr, flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()

"""Start-up time of `sigil serve` on an existing database: from the moment the
process is spawned to the first signed request it accepts (200 from /api/me).

    startup.py PORT HEADER -- COMMAND...

HEADER is an Authorization header signed beforehand for
http://127.0.0.1:PORT/api/me (a refused connection consumes no nonce, so one
header serves every attempt). COMMAND must listen on 127.0.0.1:PORT. Prints the
milliseconds; the server is stopped (SIGTERM) afterwards.
"""

import http.client
import subprocess
import sys
import time


def main() -> None:
    port, header = int(sys.argv[1]), sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1 :]
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.poll() is not None:
                sys.exit(f"the server exited with {server.returncode} before answering")
            if time.perf_counter() - started > 30:
                sys.exit("no accepted request within 30 s")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/me", headers={"Authorization": header})
                status = conn.getresponse().status
                conn.close()
            except (ConnectionRefusedError, ConnectionResetError):
                time.sleep(0.001)
                continue
            if status != 200:
                sys.exit(f"the first answer was {status}, not 200")
            print(f"{(time.perf_counter() - started) * 1000:.1f}")
            return
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

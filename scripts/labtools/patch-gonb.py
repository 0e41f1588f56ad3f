"""Writes a build overlay that fixes one GoNB v0.11.5 bug: it answers
requests that arrive on the control channel (kernel_info_request, sent there
by JupyterLab 4 and Jupyter Server 2 when a notebook connects) on the shell
channel, so the reply never arrives where it is awaited and a notebook opens
with its kernel "Unknown" for a minute. With the overlay, a control request
is answered on the control channel.

    python3 patch-gonb.py GONB_MODULE_DIR OUT_DIR

copies GoNB's module to OUT_DIR and edits it there; lab-setup then builds the
tools with `replace github.com/janpfeifer/gonb => OUT_DIR`. Each edit must
match GoNB's source exactly, or this fails and says which.
"""
import shutil
import sys
from pathlib import Path

EDITS = {
    "internal/kernel/messages.go": [
        ("\tIdentities [][]byte\n\tkernel     *Kernel\n}",
         "\tIdentities [][]byte\n\tkernel     *Kernel\n"
         "\t// replySocket is the socket the request came on (flowbook's patch); nil means shell.\n"
         "\treplySocket *SyncSocket\n}"),
        ("\treturn m.kernel.sockets.ShellSocket.RunLocked(func(shell zmq4.Socket) error {\n\t\treturn m.sendMessage(shell, msg)",
         "\tsocket := &m.kernel.sockets.ShellSocket\n\tif m.replySocket != nil {\n\t\tsocket = m.replySocket\n\t}\n"
         "\treturn socket.RunLocked(func(shell zmq4.Socket) error {\n\t\treturn m.sendMessage(shell, msg)"),
    ],
    "internal/kernel/kernel.go": [
        ("\t\t\t\tmsg = k.FromWireMsg(zmqMsg)\n",
         "\t\t\t\tmsg = k.FromWireMsg(zmqMsg)\n"
         "\t\t\t\tif impl, ok := msg.(*MessageImpl); ok && socketName == \"control\" {\n"
         "\t\t\t\t\timpl.replySocket = &k.sockets.ControlSocket\n\t\t\t\t}\n"),
    ],
}


def main():
    module, out = Path(sys.argv[1]), Path(sys.argv[2])
    if out.exists():
        shutil.rmtree(out)
    # The module cache is read-only: copy it, then make the copy writable.
    shutil.copytree(module, out)
    for path in [out, *out.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    for rel, edits in EDITS.items():
        text = (out / rel).read_text()
        for old, new in edits:
            if text.count(old) != 1:
                sys.exit(f"patch-gonb: {rel} does not contain the expected code once; was GoNB's version changed in go.mod?")
            text = text.replace(old, new)
        (out / rel).write_text(text)


if __name__ == "__main__":
    main()

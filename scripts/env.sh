# Sourced by every flowbook script: the Go settings the project builds with.
#
# GoMLX v0.28.16 needs Go 1.27. scripts/go-toolchain prepares Go 1.27.4 in
# .cache/go (fetched through the module proxy once, by whatever go command is
# on PATH) with its faulty SIMD partial loads fixed, and it goes first on PATH.
# FLOWBOOK_GOTOOLCHAIN=go1.27.4+auto (say) uses the go command's own toolchain
# download instead, unfixed.
_flowbook_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${FLOWBOOK_GOTOOLCHAIN:-}" ]; then
  export GOTOOLCHAIN="$FLOWBOOK_GOTOOLCHAIN"
elif "$_flowbook_root/scripts/go-toolchain" "$_flowbook_root/.cache/go"; then
  case ":$PATH:" in
    *":$_flowbook_root/.cache/go/bin:"*) ;;
    *) export PATH="$_flowbook_root/.cache/go/bin:$PATH" ;;
  esac
  export GOTOOLCHAIN=local
else
  echo "env.sh: falling back to GOTOOLCHAIN=go1.27.4+auto (without the SIMD fix)" >&2
  export GOTOOLCHAIN=go1.27.4+auto
fi
# SIMD kernels make GoMLX's pure-Go backend several times faster (a RealNVP-2D
# training step: 13.7 → 53.9 steps/s, scripts/bench). FLOWBOOK_SIMD=0 builds
# without them.
if [ "${FLOWBOOK_SIMD:-1}" = "1" ]; then
  export GOEXPERIMENT=simd
else
  unset GOEXPERIMENT
fi
# Never let GoMLX's XLA backend try to download a plugin.
export GOMLX_NO_AUTO_INSTALL=1
# XLA's CPU plugin, when scripts/install-xla-cpu has put it in .cache/xla:
# flowlib/backend then chooses XLA on CPU (FLOWBOOK_BACKEND=go forces pure
# Go). PJRT_PLUGIN_LIBRARY_PATH replaces go-xla's default directories, so
# they are kept after it.
if [ -f "$_flowbook_root/.cache/xla/pjrt_c_api_cpu_plugin.so" ]; then
  case ":${PJRT_PLUGIN_LIBRARY_PATH:-}:" in
    *":$_flowbook_root/.cache/xla:"*) ;;
    *) export PJRT_PLUGIN_LIBRARY_PATH="$_flowbook_root/.cache/xla:${PJRT_PLUGIN_LIBRARY_PATH:-$HOME/.local/lib/go-xla:/usr/local/lib/go-xla}" ;;
  esac
fi

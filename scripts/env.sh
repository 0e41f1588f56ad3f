# Sourced by every flowbook script: the Go settings the project builds with.
#
# GoMLX v0.28.16 needs Go 1.27. go.mod names toolchain go1.27.4; this lets an
# older go command (or one pinned with GOTOOLCHAIN=local) fetch it through the
# module proxy once, into the module cache.
export GOTOOLCHAIN="${FLOWBOOK_GOTOOLCHAIN:-go1.27.4+auto}"
# SIMD kernels make GoMLX's pure-Go backend several times faster (a RealNVP-2D
# training step: 17.6 → 70 steps/s in the prototype). FLOWBOOK_SIMD=0 builds
# without them.
if [ "${FLOWBOOK_SIMD:-1}" = "1" ]; then
  export GOEXPERIMENT=simd
else
  unset GOEXPERIMENT
fi
# Never let GoMLX's XLA backend try to download a plugin.
export GOMLX_NO_AUTO_INSTALL=1

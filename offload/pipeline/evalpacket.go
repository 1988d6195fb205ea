package pipeline

// MPLSDepthMax is the deepest Key.MPLSDepth: parsers read at most this many
// label stack entries looking for the bottom of stack (a deeper stack, or
// one without a bottom, has MPLSDepth MPLSDepthMax and no payload fields).
const MPLSDepthMax = 8

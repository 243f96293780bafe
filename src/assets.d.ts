// Build-time imports: WGSL sources arrive as text, the compiled AssemblyScript module as bytes.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '*.safetensors' {
  const bytes: Uint8Array;
  export default bytes;
}

// The error of tokenizer files and tokenizer calls: a malformed or unsupported tokenizer.json or
// tokenizer_config.json, a token id outside the vocabulary, a text too long for the batch. The message
// names the problem and what to do about it. Arguments of the wrong JavaScript type raise TypeError.

export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

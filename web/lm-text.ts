// The page's text for a language model: the training part and the held-out tenth. The text splits at
// the first whitespace at or after character ⌊0.9·n⌋ (so no word is cut): what comes before trains,
// the rest (from that whitespace on) is held out for the perplexity.

export interface TextSplit {
  train: string;
  held: string;
}

export function splitText(text: string): TextSplit {
  const start = Math.floor(0.9 * text.length);
  const rest = text.slice(start).search(/\s/);
  const cut = rest < 0 ? text.length : start + rest;
  const split = { train: text.slice(0, cut), held: text.slice(cut) };
  if (!split.train.trim() || !split.held.trim())
    throw new Error(
      `the text (${text.length} characters) leaves nothing to ${split.train.trim() ? 'hold out' : 'train on'}: ` +
        'give a longer text, with spaces or lines in its last tenth',
    );
  return split;
}

/** The seven basic expressions in RAF-DB's order, used everywhere (outputs, figures, class distributions). */
export const CLASSES = [
  "surprise",
  "fear",
  "disgust",
  "happiness",
  "sadness",
  "anger",
  "neutral",
] as const;

/** One of the seven class names. */
export type ClassName = typeof CLASSES[number];

/** The number of classes, 7. */
export const NUM_CLASSES = CLASSES.length;

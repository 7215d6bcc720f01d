/** The variants a bench's --variants list names, in its order; an unknown name stops the bench, naming those it knows. */
export function chosenVariants<T extends string>(list: string, known: readonly T[]): T[] {
  const names = list.split(',');
  const unknown = names.find((n) => !(known as readonly string[]).includes(n));
  if (unknown !== undefined) throw new Error(`--variants: unknown "${unknown}"; choose from ${known.join(', ')}`);
  return names as T[];
}

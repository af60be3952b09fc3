import { toFunctionSignature, toEventSignature, toFunctionSelector, toEventSelector } from "viem";
const mod = await import(process.argv[2]);
const name = process.argv[3];
const abi = mod[name];
function sig(item){ return item.name + "(" + item.inputs.map(fmt).join(",") + ")"; }
function fmt(i){ if (i.type.startsWith("tuple")) return "(" + i.components.map(fmt).join(",") + ")" + i.type.slice(5); return i.type; }
for (const item of abi) {
  if (item.type === "function") console.log("fn", toFunctionSelector(sig(item)), sig(item), item.stateMutability, "->", item.outputs.map(o=>fmt(o)+" "+o.name).join(","));
  else if (item.type === "event") console.log("ev", sig(item), item.inputs.map(i=>i.indexed?"i":"-").join(""));
  else if (item.type === "error") console.log("err", toFunctionSelector(sig(item)), sig(item));
  else console.log(item.type, JSON.stringify(item));
}

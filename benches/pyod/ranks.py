"""Mean AUROC and mean rank of each candidate against the peers, from recipe_search.py output files."""
import re,collections,sys
d=collections.defaultdict(dict)
for f in sys.argv[1:]:
    for l in open(f):
        m=re.match(r'(\S+)\s+(\S+)\s+([0-9.]+) ±',l)
        if m: d[m.group(2)][m.group(1)]=float(m.group(3))
peers=[k for k in d if '.' in k and ':' not in k]
for cand in [k for k in d if k not in peers]:
    dets=peers+[cand]; sets=list(d[cand])
    ranks=collections.defaultdict(list)
    for s in sets:
        order=sorted(dets,key=lambda x:-d[x][s])
        for r,x in enumerate(order): ranks[x].append(r+1)
    print(f"{cand:35s} mean {sum(d[cand].values())/len(sets):.3f} rank {sum(ranks[cand])/len(sets):.2f} | IForest rank {sum(ranks['iforest.IForest'])/len(sets):.2f}")
